namespace CtrFallback.Tests;

/// <summary>
/// A test double around a real store: counts every call and makes a chosen one fail, either before it reaches the
/// store (nothing happened) or after the store did it (the answer was lost). Can also run an action before a
/// registration, to race another writer against a training run.
/// </summary>
internal sealed class FaultingModelStore(IModelStore inner) : IModelStore
{
    private int _calls;
    private int _failAt;
    private bool _afterEffect;

    /// <summary>The calls made since the last <see cref="FailCall"/>, by method name, in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>Whether the chosen call was reached and failed.</summary>
    public bool Fired { get; private set; }

    /// <summary>Runs before each registration reaches the store.</summary>
    public Func<Task>? BeforeRegister { get; set; }

    /// <summary>Delays each tag write, so that concurrent moves would interleave if nothing serialized them.</summary>
    public TimeSpan TagWriteDelay { get; set; }

    /// <summary>Fails the <paramref name="call"/>-th call from now (1 = the next one); 0 fails none.</summary>
    public void FailCall(int call, bool afterEffect)
    {
        lock (Calls)
        {
            (_calls, _failAt, _afterEffect, Fired) = (0, call, afterEffect, false);
            Calls.Clear();
        }
    }

    public async Task<ModelVersion> RegisterAsync(ModelRegistration registration, CancellationToken cancellationToken = default)
    {
        if (BeforeRegister is { } before)
        {
            await before();
        }

        return await Run(nameof(RegisterAsync), () => inner.RegisterAsync(registration, cancellationToken));
    }

    public Task<ModelVersion?> GetVersionAsync(string modelName, int version, CancellationToken cancellationToken = default) =>
        Run(nameof(GetVersionAsync), () => inner.GetVersionAsync(modelName, version, cancellationToken));

    public Task<ModelVersion?> GetVersionByAliasAsync(string modelName, string alias, CancellationToken cancellationToken = default) =>
        Run(nameof(GetVersionByAliasAsync), () => inner.GetVersionByAliasAsync(modelName, alias, cancellationToken));

    public Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string modelName, CancellationToken cancellationToken = default) =>
        Run(nameof(ListVersionsAsync), () => inner.ListVersionsAsync(modelName, cancellationToken));

    public Task SetAliasAsync(string modelName, string alias, int version, CancellationToken cancellationToken = default) =>
        Run(nameof(SetAliasAsync), async () =>
        {
            await inner.SetAliasAsync(modelName, alias, version, cancellationToken);
            return true;
        });

    public Task SetVersionTagAsync(string modelName, int version, string key, string value, CancellationToken cancellationToken = default) =>
        Run($"{nameof(SetVersionTagAsync)}({version}, {key})", async () =>
        {
            if (TagWriteDelay > TimeSpan.Zero)
            {
                await Task.Delay(TagWriteDelay, cancellationToken);
            }

            await inner.SetVersionTagAsync(modelName, version, key, value, cancellationToken);
            return true;
        });

    public Task<byte[]> DownloadArtifactAsync(string modelName, int version, CancellationToken cancellationToken = default) =>
        Run(nameof(DownloadArtifactAsync), () => inner.DownloadArtifactAsync(modelName, version, cancellationToken));

    public Task<byte[]?> DownloadAttachmentAsync(string modelName, int version, string fileName, CancellationToken cancellationToken = default) =>
        Run(nameof(DownloadAttachmentAsync), () => inner.DownloadAttachmentAsync(modelName, version, fileName, cancellationToken));

    private async Task<T> Run<T>(string name, Func<Task<T>> call)
    {
        bool fail;
        lock (Calls)
        {
            Calls.Add(name);
            fail = ++_calls == _failAt;
            Fired |= fail;
        }

        if (fail && !_afterEffect)
        {
            throw new ModelStoreException($"Injected failure of {name} (call {_failAt}), before it reached the store.");
        }

        var result = await call();
        return fail ? throw new ModelStoreException($"Injected failure of {name} (call {_failAt}), after the store did it.") : result;
    }
}
