import { defineConfig } from "vite";

// Built assets are committed in dist/ and served by the api function (netclode/functions/webapp.py):
// hashed names under /assets/ are cached for a year, index.html never.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // No inline scripts or styles: the CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
