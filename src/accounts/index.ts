export * from './account-store.js';
export * from './authenticator.js';
export * from './file-account-store.js';
export * from './login-throttle.js';
export * from './private-files.js';
