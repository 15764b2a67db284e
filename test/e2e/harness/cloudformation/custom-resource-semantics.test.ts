import { CfnResource, Stack } from 'aws-cdk-lib';
import { useLifecycleEnvironment } from './lifecycle-environment';
import type { CustomResourceExchange } from './model-services';
import { probeFunction, probeLines, probeResource } from './probe';
import { synthesize } from './synth';
import type { Template } from './template';

/**
 * The model's custom resource semantics (CLOUDFORMATION.md, "Custom resource requests" and "Operations and phases"),
 * driven with a probe handler deployed as inline code: it answers what its properties say and logs the stack status
 * and template the CloudFormation API stand-in showed it.
 */
const e = useLifecycleEnvironment({ answerTimeoutMs: 500 });

let stacks = 0;
const newStackName = () => `Cr${++stacks}`;

interface ProbeSpec {
  readonly properties: Record<string, unknown>;
  /** Logical ids this one depends on. */
  readonly after?: string[];
}

/** Probes (and `failing`: no-op resources a test makes fail) with fixed logical ids, one probe function per stack. */
function probeTemplate(
  probes: Record<string, ProbeSpec>, failing: Record<string, string[]> = {}, functions = 1, serviceTokenOf: Record<string, number> = {},
): Template {
  return synthesize((stack: Stack) => {
    const fns = Array.from({ length: functions }, (_, i) => probeFunction(stack, `ProbeFunction${i}`));
    const made: Record<string, CfnResource> = {};
    for (const [id, spec] of Object.entries(probes)) {
      const r = probeResource(stack, id, fns[serviceTokenOf[id] ?? 0], spec.properties);
      made[id] = r.node.defaultChild as CfnResource;
      made[id].overrideLogicalId(id);
    }
    for (const [id, after] of Object.entries(failing)) {
      made[id] = new CfnResource(stack, id, { type: 'AWS::SSM::Parameter', properties: { Value: id } });
      made[id].overrideLogicalId(id);
      for (const a of after) made[id].addDependency(made[a]);
    }
    for (const [id, spec] of Object.entries(probes)) for (const a of spec.after ?? []) made[id].addDependency(made[a]);
  });
}

function exchangesOf(stackName: string): CustomResourceExchange[] {
  return e.model.services.exchanges.filter((x) => x.stackName === stackName);
}

const brief = (x: CustomResourceExchange) => `${x.phase} ${x.requestType} ${x.logicalId} ${x.physicalId ?? '-'} -> ${x.answer?.Status ?? 'no answer'} ${x.answer?.PhysicalResourceId ?? ''}`.trim();

afterEach(() => {
  // The tests that provoke a missing answer take their violation themselves.
  expect(e.model.services.violations.splice(0)).toEqual([]);
});

test('CloudFormation\'s request: every scalar property a string, lists and maps kept; Update adds PhysicalResourceId and OldResourceProperties', async () => {
  const name = newStackName();
  const from = e.logs.lines.length;
  const properties = { Flag: true, Count: 3, List: [1, 'a', false], Map: { N: 2, B: true } };
  await e.model.createStack(name, probeTemplate({ R: { properties } }));
  await e.model.updateStack(name, probeTemplate({ R: { properties: { ...properties, Count: 4 } } }));
  const [create, update] = exchangesOf(name);
  expect(create.resourceProperties).toEqual({
    ServiceToken: expect.stringMatching(/^arn:aws:lambda:us-east-1:123456789012:function:/),
    Flag: 'true',
    Count: '3',
    List: ['1', 'a', 'false'],
    Map: { N: '2', B: 'true' },
  });
  expect(update.oldResourceProperties).toEqual(create.resourceProperties);
  expect(update.resourceProperties).toMatchObject({ Count: '4' });
  const lines = probeLines(e.logs, from);
  expect(lines.map((l) => l.fields)).toEqual([
    ['LogicalResourceId', 'RequestId', 'RequestType', 'ResourceProperties', 'ResourceType', 'ResponseURL', 'ServiceToken', 'StackId'],
    ['LogicalResourceId', 'OldResourceProperties', 'PhysicalResourceId', 'RequestId', 'RequestType', 'ResourceProperties', 'ResourceType', 'ResponseURL', 'ServiceToken', 'StackId'],
  ]);
  expect(lines.map((l) => l.status)).toEqual(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS']);
});

test('an Update answered with another physical id is a replacement: the old id gets Delete, with the old properties, in the cleanup phase', async () => {
  const name = newStackName();
  const from = e.logs.lines.length;
  await e.model.createStack(name, probeTemplate({ R: { properties: { PhysicalId: 'one' } } }));
  const result = await e.model.updateStack(name, probeTemplate({ R: { properties: { PhysicalId: 'two' } } }));
  expect(result.status).toBe('UPDATE_COMPLETE');
  expect(exchangesOf(name).map(brief)).toEqual([
    'CREATE_IN_PROGRESS Create R - -> SUCCESS one',
    'UPDATE_IN_PROGRESS Update R one -> SUCCESS two',
    'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS Delete R one -> SUCCESS one',
  ]);
  expect(exchangesOf(name)[2].resourceProperties).toMatchObject({ PhysicalId: 'one' });
  expect(e.model.physicalId(name, 'R')).toBe('two');
  // The handler saw the phase through DescribeStacks, and GetTemplate answered the new template (which still has R).
  expect(probeLines(e.logs, from).slice(-1)[0]).toMatchObject({ requestType: 'Delete', status: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', inTemplate: true });
});

test('a replacement rolled back: no Update goes back to the old id, the new id and what the update created get Delete in the rollback cleanup', async () => {
  const name = newStackName();
  const from = e.logs.lines.length;
  await e.model.createStack(name, probeTemplate({ R: { properties: { PhysicalId: 'one' } } }));
  e.model.failNext({ logicalId: 'Failing' });
  const result = await e.model.updateStack(name, probeTemplate(
    { R: { properties: { PhysicalId: 'two' } }, Added: { properties: { PhysicalId: 'added' }, after: ['R'] } },
    { Failing: ['Added'] },
  ));
  expect(result.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  expect(exchangesOf(name).map(brief)).toEqual([
    'CREATE_IN_PROGRESS Create R - -> SUCCESS one',
    'UPDATE_IN_PROGRESS Update R one -> SUCCESS two',
    'UPDATE_IN_PROGRESS Create Added - -> SUCCESS added',
    'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS Delete Added added -> SUCCESS added',
    'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS Delete R two -> SUCCESS two',
  ]);
  expect(exchangesOf(name)[4].resourceProperties).toMatchObject({ PhysicalId: 'two' });
  expect(e.model.physicalId(name, 'R')).toBe('one');
  // During the rollback GetTemplate answers the old template again: Added is not in it.
  expect(probeLines(e.logs, from).filter((l) => l.requestType === 'Delete').map((l) => [l.logicalId, l.inTemplate])).toEqual([['Added', false], ['R', true]]);
});

test('an in-place update rolled back: an Update with the old and new properties swapped, in UPDATE_ROLLBACK_IN_PROGRESS', async () => {
  const name = newStackName();
  await e.model.createStack(name, probeTemplate({ R: { properties: { Value: 'a' } } }));
  e.model.failNext({ logicalId: 'Failing' });
  await e.model.updateStack(name, probeTemplate({ R: { properties: { Value: 'b' } } }, { Failing: ['R'] }));
  const [, forward, back] = exchangesOf(name);
  expect(brief(back)).toBe('UPDATE_ROLLBACK_IN_PROGRESS Update R R-probe -> SUCCESS R-probe');
  expect([forward.resourceProperties.Value, forward.oldResourceProperties!.Value]).toEqual(['b', 'a']);
  expect([back.resourceProperties.Value, back.oldResourceProperties!.Value]).toEqual(['a', 'b']);
});

test('a Create answered FAILED still gets a Delete, with the physical id it answered', async () => {
  const name = newStackName();
  const result = await e.model.createStack(name, probeTemplate({ R: { properties: { FailOn: 'Create', PhysicalId: 'failed-one' } } }));
  expect(result.status).toBe('ROLLBACK_COMPLETE');
  expect(result.failures).toEqual(['R (create): probe told to fail']);
  expect(exchangesOf(name).map(brief)).toEqual([
    'CREATE_IN_PROGRESS Create R - -> FAILED failed-one',
    'ROLLBACK_IN_PROGRESS Delete R failed-one -> SUCCESS failed-one',
  ]);
});

test('no answer: the resource fails, the missing answer is recorded as a violation, and the rollback\'s Delete carries an id CloudFormation made up', async () => {
  const name = newStackName();
  const result = await e.model.createStack(name, probeTemplate({ Silent: { properties: { SilentOn: 'Create' } } }));
  expect(result.status).toBe('ROLLBACK_COMPLETE');
  const [create, del] = exchangesOf(name);
  expect(create.answer).toBeUndefined();
  expect(del.requestType).toBe('Delete');
  expect(del.physicalId).toMatch(new RegExp(`^${name}-Silent-[A-Z0-9]{12}$`));
  expect(e.model.services.violations.splice(0)).toEqual([
    expect.stringMatching(new RegExp(`^${name} CREATE_IN_PROGRESS: Create of Silent: CloudFormation never got its answer \\(1 invocations\\)$`)),
  ]);
});

test('a removed custom resource gets Delete in the cleanup phase, with its properties; GetTemplate shows the new template then', async () => {
  const name = newStackName();
  const from = e.logs.lines.length;
  await e.model.createStack(name, probeTemplate({ Stays: { properties: {} }, Leaves: { properties: { Mine: 'yes' } } }));
  const result = await e.model.updateStack(name, probeTemplate({ Stays: { properties: {} } }));
  expect(result.status).toBe('UPDATE_COMPLETE');
  const del = exchangesOf(name).find((x) => x.requestType === 'Delete')!;
  expect(brief(del)).toBe('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS Delete Leaves Leaves-probe -> SUCCESS Leaves-probe');
  expect(del.resourceProperties).toMatchObject({ Mine: 'yes' });
  expect(probeLines(e.logs, from).slice(-1)[0]).toMatchObject({ logicalId: 'Leaves', inTemplate: false });
  expect([...e.model.stack(name).resources.keys()]).not.toContain('Leaves');
});

test('an invocation that throws is retried (Lambda\'s asynchronous retries) until the handler answers', async () => {
  const name = newStackName();
  const result = await e.model.createStack(name, probeTemplate({ R: { properties: { ThrowOnce: 'Create' } } }));
  expect(result.status).toBe('CREATE_COMPLETE');
  const [create] = exchangesOf(name);
  expect([create.invocations, create.invocationErrors]).toEqual([2, [expect.stringMatching(/probe told to throw once/)]]);
});

test('a new ServiceToken is refused ("Modifying service token is not allowed") and rolled back', async () => {
  const name = newStackName();
  await e.model.createStack(name, probeTemplate({ R: { properties: {} } }, {}, 2));
  const result = await e.model.updateStack(name, probeTemplate({ R: { properties: {} } }, {}, 2, { R: 1 }));
  expect(result.status).toBe('UPDATE_ROLLBACK_COMPLETE');
  expect(result.failures).toEqual(['R (update): Modifying service token is not allowed.']);
  expect(exchangesOf(name).map((x) => x.requestType)).toEqual(['Create']);
});

test('the probe\'s logical ids are the template\'s', () => {
  const t = probeTemplate({ R: { properties: {} } }, { F: ['R'] });
  expect(Object.keys(t.Resources).filter((id) => !id.startsWith('ProbeFunction'))).toEqual(['R', 'F']);
  expect((t.Resources.F as { DependsOn?: string[] }).DependsOn).toEqual(['R']);
});
