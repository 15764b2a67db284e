/**
 * Stands in for node:zlib in the bundle. The SDK's checksum module imports it at load for crc32, which Secrets
 * Manager's JSON calls never compute; without zlib.crc32 the module keeps its own JavaScript crc32.
 */
export {};
