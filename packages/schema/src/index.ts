export * from './envelope.ts';
export * from './envelope-validation.ts';
export { isDateTime, isUuid } from './formats.ts';
export * from './iso-time.ts';
export * from './taxonomy/index.ts';
export * from './validation-issue.ts';
