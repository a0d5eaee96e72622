namespace Patronus.Testing;

/// <summary>
/// The namespaces one fixture made, deleted newest first on dispose. A fixture adds each namespace here as
/// soon as it exists, so a failure halfway through building a topology still leaves nothing behind.
/// </summary>
public sealed class OwnedNamespaces : IDisposable
{
    private readonly List<string> _names = new();

    public string Add(string name)
    {
        NetworkNamespace.Add(name);
        _names.Add(name);
        return name;
    }

    public void Dispose()
    {
        for (var i = _names.Count - 1; i >= 0; i--)
            NetworkNamespace.TryDelete(_names[i]);
        _names.Clear();
    }
}
