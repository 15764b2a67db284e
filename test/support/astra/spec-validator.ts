import { readFileSync } from 'node:fs';
import OpenAPIBackend, { Document } from 'openapi-backend';
import { parse } from 'yaml';

export interface IncomingRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The raw body text, undefined when the request had none. */
  readonly body?: string;
}

export interface SpecVerdict {
  /** The spec's operationId, undefined when no path and method of the spec matches. */
  readonly operationId?: string;
  /** Empty when the spec accepts the request. */
  readonly errors: string[];
}

/**
 * The spec as the Astra model's server checks it. Two documented extras are added to POST's body (the spec lacks them; DataStax's
 * API docs and Java SDK send them), and the body is closed to every other field so that a typo is caught instead of
 * silently ignored. See test/fixtures/README.md.
 */
function loadSpec(specPath: string): Document {
  const spec = parse(readFileSync(specPath, 'utf8'));
  const body = spec.components.schemas.GenerateTokenBody;
  body.properties.description = { type: 'string', description: 'documented extra (DataStax API docs, TokensClient.java)' };
  body.properties.tokenExpiry = { type: 'string', format: 'date-time', description: 'documented extra (DataStax API docs)' };
  body.additionalProperties = false;
  return spec;
}

export class SpecValidator {
  public static async create(specPath: string): Promise<SpecValidator> {
    const api = new OpenAPIBackend({
      definition: loadSpec(specPath),
      quick: false,
      validate: true,
      // No extra dependency for formats: date-time is the only one the requests carry; the spec's `format: string`
      // is an annotation.
      customizeAjv: (ajv) => {
        ajv.addFormat('date-time', { type: 'string', validate: (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !isNaN(Date.parse(s)) });
        ajv.addFormat('string', true);
        return ajv;
      },
    });
    await api.init();
    return new SpecValidator(api);
  }

  private constructor(private readonly api: OpenAPIBackend) {}

  public check(req: IncomingRequest): SpecVerdict {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = v;
    const [pathname, query] = req.path.split('?', 2);
    const request = { method: req.method.toLowerCase(), path: pathname, headers, query: query ?? '', body: req.body };
    const operation = this.api.matchOperation(request);
    if (!operation) {
      return { errors: [`${req.method} ${pathname} is not an operation of the spec`] };
    }
    const errors: string[] = [];

    const body = req.body !== undefined && req.body !== '' ? req.body : undefined;
    const declared = operation.requestBody && 'content' in operation.requestBody ? Object.keys(operation.requestBody.content) : [];
    const contentType = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (body !== undefined && declared.length === 0) {
      errors.push(`${operation.operationId}: the spec declares no request body, got ${body.length} bytes`);
    } else if (body !== undefined && !declared.includes(contentType)) {
      errors.push(`${operation.operationId}: content-type "${contentType}" is not one of ${declared.join(', ')}`);
    }

    errors.push(...this.securityErrors(operation, headers));

    let parsedBody: unknown = body;
    if (body !== undefined && contentType === 'application/json') {
      try {
        parsedBody = JSON.parse(body);
      } catch (e) {
        errors.push(`${operation.operationId}: body is not JSON (${(e as Error).message})`);
        return { operationId: operation.operationId, errors };
      }
    }
    const result = this.api.validateRequest({ ...request, body: parsedBody }, operation);
    for (const err of result.errors ?? []) {
      errors.push(`${operation.operationId}: ${err.instancePath || '/'} ${err.message}${err.params ? ' ' + JSON.stringify(err.params) : ''}`);
    }
    return { operationId: operation.operationId, errors };
  }

  /** Only the scheme kinds this spec uses (http bearer) are understood; any other kind is reported, not skipped. */
  private securityErrors(
    operation: { operationId?: string; security?: Array<Record<string, string[]>> }, headers: Record<string, string | string[]>,
  ): string[] {
    const doc = this.api.definition as { security?: Array<Record<string, string[]>>; components?: { securitySchemes?: Record<string, any> } };
    const requirements = operation.security ?? doc.security ?? [];
    if (requirements.length === 0) return [];
    const satisfied = requirements.some((requirement) => Object.keys(requirement).every((name) => {
      const scheme = doc.components?.securitySchemes?.[name];
      if (scheme?.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') {
        return /^Bearer \S+$/.test(String(headers.authorization ?? ''));
      }
      return false;
    }));
    return satisfied ? [] : [`${operation.operationId}: no credentials the spec's security requirement accepts (Authorization: Bearer <token>)`];
  }
}
