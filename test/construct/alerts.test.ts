import { Duration, aws_sns as sns } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROLE_ID, newStack } from './fixtures';
import { AstraTokenSecret } from '../../src';

describe('alerting', () => {
  test('adds nothing without a topic', () => {
    const stack = newStack();
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::Events::Rule', 0);
  });

  test('alarms on rotation function errors, once per function and topic', () => {
    // GIVEN
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alerts');
    // WHEN
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID, alarmTopic: topic });
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID, alarmTopic: topic });
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^AstraTokenRotationFunction') } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alerts') }],
    });
  });

  test('alarms on the function\'s alert lines (a token expiring before its replacement, tokens left live), once per function and topic', () => {
    // GIVEN
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alerts');
    // WHEN
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID, alarmTopic: topic });
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID, alarmTopic: topic });
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Logs::MetricFilter', 1);
    const functionName = { Ref: Match.stringLikeRegexp('^AstraTokenRotationFunction') };
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: Match.stringLikeRegexp('^AstraTokenRotationLogGroup') },
      FilterPattern: '?"TokenExpiresBeforeReplacement" ?"TokensLeftLiveOnDeletion"',
      MetricTransformations: [{
        MetricNamespace: 'cdk-astra-token-secret',
        MetricName: { 'Fn::Join': ['', ['TokenAlerts-', functionName]] },
        MetricValue: '1',
        DefaultValue: 0,
      }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'cdk-astra-token-secret',
      MetricName: { 'Fn::Join': ['', ['TokenAlerts-', functionName]] },
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alerts') }],
    });
  });

  test('forwards a failed rotation and a deletion of each managed secret to the topic', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alerts');
    new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID, alarmTopic: topic });
    const secretArn = { Ref: Match.stringLikeRegexp('^TokenSecret') };
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        $or: [
          {
            'detail-type': ['AWS Service Event via CloudTrail'],
            'detail': { eventName: ['RotationFailed'], additionalEventData: { SecretId: [secretArn] } },
          },
          {
            'detail-type': ['AWS API Call via CloudTrail'],
            'detail': { eventName: ['DeleteSecret'], responseElements: { arn: [secretArn] } },
          },
        ],
      },
      State: 'ENABLED',
      Targets: [{ Id: 'AlertTopic', Arn: { Ref: Match.stringLikeRegexp('^Alerts') } }],
    });
  });

  test('lets exactly those alarms and rules publish to the topic', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alerts');
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID, alarmTopic: topic });
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID, alarmTopic: topic });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 1);
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Sid: 'AllowcloudwatchPublish',
        Action: 'sns:Publish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Resource: { Ref: expect.stringMatching(/^Alerts/) },
        Condition: {
          ArnEquals: {
            'aws:SourceArn': [
              { 'Fn::GetAtt': [expect.stringMatching(/^AstraTokenRotationErrorsAlarm/), 'Arn'] },
              { 'Fn::GetAtt': [expect.stringMatching(/^AstraTokenRotationTokenAlertsAlarm/), 'Arn'] },
            ],
          },
        },
      },
      {
        Sid: 'AlloweventsPublish',
        Action: 'sns:Publish',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: { Ref: expect.stringMatching(/^Alerts/) },
        Condition: {
          ArnEquals: {
            'aws:SourceArn': [
              { 'Fn::GetAtt': [expect.stringMatching(/^ARotationFailedOrDeletedRule/), 'Arn'] },
              { 'Fn::GetAtt': [expect.stringMatching(/^BRotationFailedOrDeletedRule/), 'Arn'] },
            ],
          },
        },
      },
    ]);
  });
});

describe('metrics', () => {
  test.each([
    ['metricRotationErrors', 'Errors', 'Sum'],
    ['metricRotationInvocations', 'Invocations', 'Sum'],
    ['metricRotationThrottles', 'Throttles', 'Sum'],
    ['metricRotationStepDuration', 'Duration', 'p99'],
  ] as const)('%s is the rotation function\'s %s (%s)', (method, metricName, statistic) => {
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const metric = token[method]();
    expect(metric.namespace).toBe('AWS/Lambda');
    expect(metric.metricName).toBe(metricName);
    expect(metric.statistic).toBe(statistic);
    expect(stack.resolve(metric.dimensions)).toEqual({ FunctionName: { Ref: expect.stringMatching(/^AstraTokenRotationFunction/) } });
  });

  test('take the caller\'s options', () => {
    const stack = newStack();
    const token = new AstraTokenSecret(stack, 'Token', { roleId: ROLE_ID });
    const metric = token.metricRotationErrors({ period: Duration.hours(1), statistic: 'Maximum' });
    expect(metric.period.toMinutes()).toBe(60);
    expect(metric.statistic).toBe('Maximum');
  });
});
