/** An Astra role id: a UUID, any case. Imports nothing, so the construct and the handler's bundle check the same shape. */
export const ROLE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
