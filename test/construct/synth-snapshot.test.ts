import { Template } from 'aws-cdk-lib/assertions';
import { representativeStack } from './fixtures';

test('the representative stack synthesizes to the reviewed template', () => {
  const template = Template.fromStack(representativeStack()).toJSON();
  // The bundle's hash changes with every handler change; the template's shape is what is reviewed here.
  const text = JSON.stringify(template, null, 1).replace(/[0-9a-f]{64}\.zip/g, '<rotation-handler-asset>.zip');
  expect(JSON.parse(text)).toMatchSnapshot();
});
