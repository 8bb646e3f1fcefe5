export * from './events';
export * from './wire';
export * from './flows';
export * from './chrome';
export * from './webview';
export * from './lsp';
