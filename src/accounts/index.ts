export * from './account-store.js';
export * from './accounts-file-import.js';
export * from './accounts-mark.js';
export * from './app-password-seal.js';
export * from './authenticator.js';
export * from './login-throttle.js';
export * from './private-files.js';
export * from './sqlite-account-store.js';
