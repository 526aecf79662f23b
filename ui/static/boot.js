// Loads the wasm UI. Kept in its own file: the Tauri CSP allows only
// 'self' scripts, and an inline module would need a hash.
import init from './cds-ui.js';

// The wasm path is given explicitly: bindings made with the
// wasm-bindgen library (as `cargo xtask build-ui` does) carry no default
// path. Fetching it needs `connect-src 'self'` in the CSP.
init({ module_or_path: new URL('./cds-ui_bg.wasm', import.meta.url) }).catch((err) => {
  console.error('cds-ui failed to start', err);
  const boot = document.getElementById('boot');
  if (boot) {
    boot.setAttribute('role', 'alert');
    boot.classList.add('boot-failed');
    boot.textContent =
      'Không khởi động được giao diện. Hãy đóng và mở lại ứng dụng. ' +
      '/ The interface could not start. Please close and reopen the app.';
  }
});
