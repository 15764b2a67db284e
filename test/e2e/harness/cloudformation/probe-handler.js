// A custom resource handler for the model's own tests, deployed as inline code (Code.ZipFile, under 4 KB): it logs
// what it was sent and what the CloudFormation API showed it (stack status, whether GetTemplate still lists it), then
// answers as its properties say: PhysicalId (the id to answer), FailOn / SilentOn / ThrowOnce (a RequestType).
// ReadSecret: a GetSecretValue through the function's Secrets Manager endpoint (the IAM proxy knows the caller by the
// access key in the Authorization header; nothing checks the signature), to see what the role may do at that moment.
exports.handler = async (event) => {
  const p = event.ResourceProperties || {};
  let read;
  if (p.ReadSecret) {
    const r = await fetch(process.env.SECRETS_MANAGER_ENDPOINT, {
      method: 'POST',
      headers: {
        'x-amz-target': 'secretsmanager.GetSecretValue',
        'content-type': 'application/x-amz-json-1.1',
        'authorization': `AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID}/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({ SecretId: p.ReadSecret }),
    });
    read = r.status === 200 ? 'allowed' : (await r.json()).__type;
  }
  const cfn = async (params) => {
    const r = await fetch(process.env.CLOUDFORMATION_ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Version: '2010-05-15', ...params }).toString(),
    });
    return r.text();
  };
  const unxml = (s) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const status = (/<StackStatus>([^<]*)<\/StackStatus>/.exec(await cfn({ Action: 'DescribeStacks', StackName: event.StackId })) || [])[1];
  const body = (/<TemplateBody>([\s\S]*)<\/TemplateBody>/.exec(await cfn({ Action: 'GetTemplate', StackName: event.StackId })) || [])[1];
  const resources = body ? Object.keys(JSON.parse(unxml(body)).Resources || {}) : [];
  console.log(JSON.stringify({
    probe: {
      requestType: event.RequestType,
      logicalId: event.LogicalResourceId,
      physicalId: event.PhysicalResourceId,
      status,
      inTemplate: resources.includes(event.LogicalResourceId),
      properties: p,
      oldProperties: event.OldResourceProperties,
      fields: Object.keys(event).sort(),
      read,
    },
  }));
  if (p.SilentOn === event.RequestType) return;
  if (p.ThrowOnce === event.RequestType && !globalThis.probeThrown) {
    globalThis.probeThrown = true;
    throw new Error('probe told to throw once');
  }
  const failed = p.FailOn === event.RequestType;
  const physical = event.RequestType === 'Delete' ? event.PhysicalResourceId : (p.PhysicalId || event.PhysicalResourceId || `${event.LogicalResourceId}-probe`);
  await fetch(event.ResponseURL, {
    method: 'PUT',
    body: JSON.stringify({
      Status: failed ? 'FAILED' : 'SUCCESS',
      Reason: failed ? 'probe told to fail' : 'ok',
      PhysicalResourceId: physical,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: { Seen: event.RequestType },
    }),
  });
};
