import {
  aws_cloudwatch as cloudwatch,
  aws_events as events,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_sns as sns,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ALERT_NAMES } from './shared/alert-names';

/**
 * The alarms that publish to each alert topic, kept so that the topic's one policy statement admits exactly those
 * alarms: its condition's list is the array below, which grows with each alarm until synthesis.
 */
const alarmArns = new WeakMap<sns.ITopic, string[]>();

function allowAlarmToPublish(topic: sns.ITopic, alarmArn: string): void {
  let arns = alarmArns.get(topic);
  if (!arns) {
    arns = [];
    alarmArns.set(topic, arns);
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowcloudwatchPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': arns } },
    }));
  }
  arns.push(alarmArn);
}

/**
 * One alarm per rotation function and topic: the function errored in a period of `errors` (the metric that
 * AstraTokenSecret.metricRotationErrors() gives users, so that their dashboards show what the alarm watches).
 */
export function alarmOnRotationErrors(functionScope: Construct, errors: cloudwatch.IMetric, topic: sns.ITopic): void {
  alarmOncePerTopic(functionScope, 'ErrorsAlarm', topic, () => errors,
    'The Astra token rotation function failed. Its log group has one JSON line per step with the secret ARN, ' +
    'the step and the reason; see docs/operations.md, "Troubleshooting".');
}

/**
 * The function's alert lines (ERROR lines about a step that succeeded, see src/shared/alert-names.ts) counted by one metric
 * filter per function, and one alarm per function and topic on that count.
 */
export function alarmOnTokenAlerts(functionScope: Construct, logGroup: logs.ILogGroup, functionName: string, topic: sns.ITopic): void {
  const alerts = () => {
    const existing = functionScope.node.tryFindChild('TokenAlerts') as logs.MetricFilter | undefined;
    const filter = existing ?? new logs.MetricFilter(functionScope, 'TokenAlerts', {
      logGroup,
      // Terms, not JSON fields: Lambda's JSON log format may carry the line as a string in its `message` field.
      filterPattern: logs.FilterPattern.anyTerm(...Object.values(ALERT_NAMES)),
      // One metric per function: two stacks' functions in one account must not set off each other's alarms.
      metricNamespace: 'cdk-astra-token-secret',
      metricName: `TokenAlerts-${functionName}`,
      metricValue: '1',
      defaultValue: 0,
    });
    return filter.metric({ statistic: cloudwatch.Stats.SUM });
  };
  alarmOncePerTopic(functionScope, 'TokenAlertsAlarm', topic, alerts,
    'An Astra token will stop working before it is replaced, a deleted secret left tokens live in Astra, or Secrets ' +
    'Manager reported a failed rotation or a deletion outside CloudFormation of a managed secret. The rotation function\'s ' +
    'log group has an ERROR line with "alert", the secret ARN and what to do.');
}

/** An alarm at one or more in a period, publishing to the topic, made once per scope and topic. */
function alarmOncePerTopic(scope: Construct, name: string, topic: sns.ITopic, metric: () => cloudwatch.IMetric, description: string): void {
  const id = `${name}${topic.node.addr}`;
  if (scope.node.tryFindChild(id)) return;
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric: metric(),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction({ bind: () => ({ alarmActionArn: topic.topicArn }) });
  allowAlarmToPublish(topic, alarm.alarmArn);
}

/**
 * One rule per rotation function: every failed rotation and every DeleteSecret in the account and region goes to the
 * function, which keeps those about its own secrets and writes an alert line for each (counted by the token-alerts
 * alarm). A rule per secret, or one listing the secrets' ARNs, would cost a resource per secret or hold about nine
 * secrets in EventBridge's 2,048-character pattern; the function tells its secrets apart exactly (see
 * lambda/events/secret-events.ts). Both events come through CloudTrail, so the account needs a trail.
 */
export function forwardSecretEvents(functionScope: Construct, fn: lambda.IFunction): void {
  if (functionScope.node.tryFindChild('SecretEventsRule')) return;
  const rule = new events.CfnRule(functionScope, 'SecretEventsRule', {
    description: 'Secrets Manager failed rotations and deletions, for the Astra token rotation function to pick out its secrets',
    eventPattern: {
      'source': ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail', 'AWS API Call via CloudTrail'],
      'detail': { eventName: ['RotationFailed', 'DeleteSecret'] },
    },
    state: 'ENABLED',
    targets: [{ id: 'RotationFunction', arn: fn.functionArn }],
  });
  new lambda.CfnPermission(functionScope, 'SecretEventsInvoke', {
    action: 'lambda:InvokeFunction',
    functionName: fn.functionArn,
    principal: 'events.amazonaws.com',
    sourceArn: rule.attrArn,
  });
}
