import { TransportProvider } from "@connectrpc/connect-query";
import { MutationCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.tsx";
import { AuthProvider } from "./auth.tsx";
import { transport } from "./transport.ts";
import "./styles.css";

const queryClient: QueryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not get better by retrying; a blip of the network might.
      retry: (count, err) => count < 2 && /unavailable|network|fetch/i.test(String((err as Error)?.message)),
      staleTime: 5_000,
      refetchOnWindowFocus: true,
    },
  },
  // Every change may show on several pages (alert → list → Now): refresh whatever is on screen.
  mutationCache: new MutationCache({ onSuccess: () => queryClient.invalidateQueries() }),
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <TransportProvider transport={transport}>
        <QueryClientProvider client={queryClient}>
          <AuthProvider>
            <App />
          </AuthProvider>
        </QueryClientProvider>
      </TransportProvider>
    </StrictMode>,
  );
}
