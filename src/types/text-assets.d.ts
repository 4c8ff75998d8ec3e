// Files SSR runs in another language (Python inside sandboxes, JavaScript preloaded into sandboxed runners as *.sandbox.cjs) are real files
// in the repository, imported as text: esbuild's text loader in the bundle,
// scripts/text-loader.cjs when running from source under tsx.
declare module '*.py' {
  const text: string;
  export default text;
}
declare module '*.go' {
  const text: string;
  export default text;
}
declare module '*.sandbox.cjs' {
  const text: string;
  export default text;
}
