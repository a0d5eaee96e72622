namespace Patronus.Kubernetes.Informers;

public sealed class ResourceInformerOptions
{
    /// <summary>Objects per list page (the list's limit parameter).</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>How often to re-list everything even when watches are healthy, to heal anything missed. Zero turns it off.</summary>
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The watch's timeoutSeconds: the server ends each watch after about this long, and the informer re-watches.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>First wait after a failure; doubled per consecutive failure up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an optional kind the API server does not serve (its CRD not installed) is looked for again.</summary>
    public TimeSpan AbsentKindRecheck { get; set; } = TimeSpan.FromSeconds(60);
}
