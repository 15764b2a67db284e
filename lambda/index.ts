export async function handler(_event: unknown): Promise<void> {}
