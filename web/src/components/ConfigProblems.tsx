export function ConfigProblems({ problems }: { problems: string[] }) {
  return (
    <main className="page">
      <section className="panel" aria-labelledby="config-title">
        <h1 id="config-title">The site is not configured</h1>
        <p>The server is missing settings it needs to reach sign-in and the socket:</p>
        <ul>
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
        <p>
          Locally, start the site through <code>pnpm local</code>, which sets them from the stack&apos;s outputs.
        </p>
      </section>
    </main>
  );
}
