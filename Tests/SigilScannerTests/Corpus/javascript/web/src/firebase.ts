import { initializeApp, type FirebaseOptions } from "firebase/app";
import { getAuth, GoogleAuthProvider, signInWithPopup, signOut } from "firebase/auth";
import { getAnalytics, isSupported } from "firebase/analytics";

// Firebase web config for the store-locator project.
const firebaseConfig: FirebaseOptions = {
  apiKey: "⟦gcp-api-key⟧",
  authDomain: "acme-store-locator.firebaseapp.com",
  projectId: "acme-store-locator",
  storageBucket: "acme-store-locator.appspot.com",
  messagingSenderId: "402918334871",
  appId: "1:402918334871:web:0e1c1354aefcd0a25a6280",
  measurementId: "G-7QK2W9ZP4L",
};

export const app = initializeApp(firebaseConfig);
export const auth = getAuth(app);

const provider = new GoogleAuthProvider();
provider.setCustomParameters({ prompt: "select_account" });

export async function signInWithGoogle(): Promise<string | null> {
  const result = await signInWithPopup(auth, provider);
  const credential = GoogleAuthProvider.credentialFromResult(result);
  // The ID token is short-lived; the backend exchanges it for a session cookie.
  const idToken = await result.user.getIdToken();
  await fetch("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ idToken }),
    credentials: "include",
  });
  return credential?.accessToken ?? null;
}

export async function logout(): Promise<void> {
  await fetch("/api/session", { method: "DELETE", credentials: "include" });
  await signOut(auth);
}

export async function startAnalytics(): Promise<void> {
  if (import.meta.env.MODE !== "production") return;
  if (await isSupported()) getAnalytics(app);
}
