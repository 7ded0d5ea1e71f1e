export * from './envelope.ts';
export * from './envelope-validation.ts';
export * from './taxonomy/index.ts';
export * from './validation-issue.ts';
