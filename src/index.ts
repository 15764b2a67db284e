export * from './astra-token-secret';
export * from './astra-environment';
export * from './shared/previous-token-revocation';
export * from './astra-token-field';
export * from './function-token-options';
