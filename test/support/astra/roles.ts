import { randomUUID } from 'node:crypto';

export interface AstraRole {
  readonly id: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export const TOKEN_READ = 'org-token-read';
export const TOKEN_WRITE = 'org-token-write';
export const ROLE_READ = 'org-role-read';

const DB_ACTIONS = [
  'db-all-keyspace-create', 'db-all-keyspace-describe', 'db-cql', 'db-graphql', 'db-keyspace-alter', 'db-keyspace-authorize',
  'db-keyspace-create', 'db-keyspace-describe', 'db-keyspace-drop', 'db-keyspace-grant', 'db-keyspace-modify', 'db-rest',
  'db-table-alter', 'db-table-authorize', 'db-table-create', 'db-table-describe', 'db-table-drop', 'db-table-grant',
  'db-table-modify', 'db-table-select',
];
const ORG_DB_ACTIONS = ['org-db-addpeering', 'org-db-create', 'org-db-expand', 'org-db-managemigratorproxy', 'org-db-passwordreset', 'org-db-suspend', 'org-db-terminate', 'org-db-view'];

export type StandardRoles = Record<'orgAdmin' | 'dbAdmin' | 'readOnly' | 'tokenManager' | 'apiUser', AstraRole>;

/** The org's roles; names follow Astra's built-in roles, the custom one is what a least-privilege rotator would use. */
export function standardRoles(): StandardRoles {
  return {
    orgAdmin: {
      id: randomUUID(),
      name: 'Organization Administrator',
      actions: [
        ...DB_ACTIONS, ...ORG_DB_ACTIONS, 'org-audits-read', 'org-billing-read', 'org-billing-write', 'org-external-auth-read',
        'org-external-auth-write', 'org-notification-write', 'org-read', 'org-role-delete', ROLE_READ, 'org-role-write',
        TOKEN_READ, TOKEN_WRITE, 'org-user-read', 'org-user-write', 'org-write',
      ],
    },
    dbAdmin: { id: randomUUID(), name: 'Database Administrator', actions: [...DB_ACTIONS, ...ORG_DB_ACTIONS, 'org-read', ROLE_READ, TOKEN_READ, TOKEN_WRITE] },
    tokenManager: { id: randomUUID(), name: 'Token Manager (custom)', actions: ['org-read', ROLE_READ, TOKEN_READ, TOKEN_WRITE, 'db-cql', 'db-table-select'] },
    apiUser: { id: randomUUID(), name: 'API User (custom)', actions: ['org-read', 'db-cql', 'db-table-select'] },
    readOnly: { id: randomUUID(), name: 'Read Only User', actions: ['org-read', 'db-all-keyspace-describe', 'db-table-select', 'db-cql', 'org-db-view'] },
  };
}
