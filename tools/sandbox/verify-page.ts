/**
 * The stand-in for Hero's identity verification page (docs/hero-api.md §7): the `login_url` from
 * register_pds points here. The page shows no patient data.
 */

/** A minimal HTML page; `title` and `body` must already be escaped. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title></head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>
`;
}

/** Values put into pages come from our own stores, but are escaped anyway since paths and forms carry them. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function verifyFormPage(token: string): string {
  return page(
    'Verify your identity (Hero sandbox)',
    `<p>This is the sandbox's stand-in for Hero's identity verification.</p>
<form method="post" action="/verify/${escapeHtml(token)}">
<button type="submit">I have verified my identity</button>
</form>`,
  );
}

/**
 * No Hero event reports identity verification (docs/hero-api.md §7), so a waiting run learns of it at
 * its next re-check, or at once when the partner's own service tells it. The page shows how; it does
 * not know the workflow ID, hence the placeholder.
 */
export function verifiedPage(): string {
  return page(
    'Identity verified',
    `<p>Thank you. You can close this page.</p>
<h2>For developers: tell the waiting run now</h2>
<p>Hero has no webhook for this. The run finds the verification at its next re-check
(<code>verification.recheckEvery</code>), or at once when your service tells it, as it would in production:</p>
<pre><code>npx hero-flow verify ID</code></pre>
<p>or, from your own code with the library:</p>
<pre><code>await heroFlow.confirmVerification(workflowId)</code></pre>
<p>Replace <code>ID</code> / <code>workflowId</code> with the run's workflow ID (the dev terminal prints it).</p>`,
  );
}

export function notFoundPage(): string {
  return page('Link not found', '<p>This verification link is not valid.</p>');
}
