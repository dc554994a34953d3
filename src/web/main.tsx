import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, KioskApp } from './app/App.js';
import { parseKiosk } from './app/routes.js';
import { StoreContext } from './data/hooks.js';
import { createStore } from './data/store.js';
import { defaultSocketUrl, webSocketSource } from './data/ws-source.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

const rootEl = document.getElementById('root');
if (rootEl === null) throw new Error('index.html lost its #root');

// One store and ONE WebSocket for every scene.
const store = createStore();
store.connect(webSocketSource({ url: defaultSocketUrl(location) }));

const kiosk = parseKiosk(location.search);
document.documentElement.classList.toggle('kiosk-mode', kiosk !== null);

createRoot(rootEl).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      {kiosk ? <KioskApp options={kiosk} /> : <App />}
    </StoreContext.Provider>
  </StrictMode>,
);
