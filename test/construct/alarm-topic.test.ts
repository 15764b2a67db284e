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
      FilterPattern: '?"TokenExpiresBeforeReplacement" ?"TokensLeftLiveOnDeletion" ?"ManagedSecretRotationFailed" ?"TeardownNotConfirmedByCloudFormation" ?"SecretEventNotConfirmedBySecretsManager" ?"ManagedSecretDeletedOutsideStack"',
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

  test('sends failed rotations and deletions to the rotation function, one rule for all its secrets', () => {
    // GIVEN
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alerts');
    // WHEN
    new AstraTokenSecret(stack, 'A', { roleId: ROLE_ID, alarmTopic: topic });
    new AstraTokenSecret(stack, 'B', { roleId: ROLE_ID, alarmTopic: topic });
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Events::Rule', 1);
    const functionArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^AstraTokenRotationFunction'), 'Arn'] };
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.secretsmanager'],
        'detail-type': ['AWS Service Event via CloudTrail', 'AWS API Call via CloudTrail'],
        'detail': { eventName: ['RotationFailed', 'DeleteSecret'] },
      },
      State: 'ENABLED',
      Targets: [{ Id: 'RotationFunction', Arn: functionArn }],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: functionArn,
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AstraTokenRotationSecretEventsRule'), 'Arn'] },
    });
  });

  test('adds two resources per secret with a topic', () => {
    // GIVEN
    const count = (secrets: number) => {
      const stack = newStack();
      const topic = new sns.Topic(stack, 'Alerts');
      for (let i = 0; i < secrets; i++) new AstraTokenSecret(stack, `T${i}`, { roleId: ROLE_ID, alarmTopic: topic });
      return Object.keys(Template.fromStack(stack).toJSON().Resources).length;
    };
    // WHEN
    const one = count(1);
    const eleven = count(11);
    // THEN: the secret and its rotation schedule
    expect((eleven - one) / 10).toBe(2);
  });

  test('fits 240 secrets with a topic in one stack', () => {
    // GIVEN
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Alerts');
    // WHEN
    for (let i = 0; i < 240; i++) new AstraTokenSecret(stack, `T${i}`, { roleId: ROLE_ID, alarmTopic: topic });
    // THEN: CloudFormation's quota is 500 resources per stack
    expect(Object.keys(Template.fromStack(stack).toJSON().Resources).length).toBeLessThanOrEqual(500);
  });

  test('lets exactly those alarms publish to the topic', () => {
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
