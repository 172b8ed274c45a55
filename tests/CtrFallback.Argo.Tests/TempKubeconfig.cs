namespace CtrFallback.Tests;

/// <summary>A kubeconfig file in a temp folder pointing at a loopback server; deleted on dispose.</summary>
internal sealed class TempKubeconfig : IDisposable
{
    private readonly string _directory;

    public TempKubeconfig(Uri server, string token, string @namespace, string context = "loopback")
    {
        _directory = Directory.CreateTempSubdirectory("ctrfallback-argo-").FullName;
        Path = System.IO.Path.Combine(_directory, "kubeconfig");
        Context = context;

        // A second context with a wrong token proves the configured context is the one used.
        File.WriteAllText(Path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: loopback
              cluster:
                server: {server.ToString().TrimEnd('/')}
            users:
            - name: trainer
              user:
                token: {token}
            - name: stranger
              user:
                token: not-the-right-token
            contexts:
            - name: {context}
              context:
                cluster: loopback
                user: trainer
                namespace: {@namespace}
            - name: other
              context:
                cluster: loopback
                user: stranger
                namespace: {@namespace}
            current-context: other
            """);
    }

    public string Path { get; }

    public string Context { get; }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
