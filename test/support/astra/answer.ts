/** An answer to an HTTP request, as the model gives it and the server writes it. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function errorAnswer(status: number, id: number, message: string, headers: Record<string, string> = {}): Answer {
  return jsonAnswer(status, { errors: [{ ID: id, message }] }, headers);
}

export function textAnswer(status: number, message: string): Answer {
  return { status, headers: { 'Content-Type': 'text/plain' }, body: message };
}
