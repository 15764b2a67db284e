export * from './astra-token-secret';
export * from './astra-environment';
export * from './previous-token-revocation';
