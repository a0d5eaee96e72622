namespace Patronus.Kubernetes.Manifests;

/// <summary>
/// How much one manifest may ask of the reader. A file or text beyond these is refused with a message
/// naming the limit, before it can exhaust the stack or memory (a recursive alias, a "billion laughs"
/// alias bomb, a list nested 20,000 deep, a file of gigabytes).
/// </summary>
public sealed record ManifestLimits
{
    /// <summary>Largest file or text read, in bytes. The API server stores objects of at most ~1.5 MB; a
    /// <c>kubectl get -o yaml</c> dump of a large cluster is far bigger, hence the headroom.</summary>
    public long MaxBytes { get; init; } = 64L << 20;

    /// <summary>Deepest nesting of mappings and sequences; the same as System.Text.Json's default for JSON input. Kubernetes objects stay under 20.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Most nodes (mappings, sequences and scalars) one YAML document may produce, aliases expanded.</summary>
    public int MaxNodes { get; init; } = 4_000_000;

    /// <summary>Most nodes that expanding aliases may add to one document: real manifests alias a few small blocks at most.</summary>
    public int MaxAliasNodes { get; init; } = 100_000;

    public static ManifestLimits Default { get; } = new();
}
