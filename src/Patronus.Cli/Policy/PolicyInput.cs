using Patronus.Cli.Reach;
using Patronus.Kubernetes.Manifests;
using Patronus.Policy.Compiled;
using Patronus.Policy.Compiler;

namespace Patronus.Cli.Policy;

/// <summary>The manifest files compiled exactly as the agent compiles a cluster, and what was rejected on the way.</summary>
internal sealed class PolicyInput
{
    private PolicyInput(ManifestModel model, PolicyCompiler compiler)
    {
        Model = model;
        Compiler = compiler;
    }

    public ManifestModel Model { get; }

    public PolicyCompiler Compiler { get; }

    public bool HadErrors => Model.Errors.Count > 0;

    public static PolicyInput Load(IEnumerable<string> files, TextWriter error) => From(ManifestModel.Load(files), error);

    public static PolicyInput From(ManifestModel model, TextWriter error)
    {
        foreach (var problem in model.Errors)
            error.WriteLine($"error: skipped {problem}");
        return new PolicyInput(model, PolicyCompiler.Create(model.Namespaces, model.Pods, model.Policies));
    }

    /// <summary>Endpoints in namespace/name order.</summary>
    public IReadOnlyList<EndpointPolicy> Endpoints() =>
        Compiler.Endpoints.Values
            .OrderBy(e => e.Endpoint.Namespace, StringComparer.Ordinal)
            .ThenBy(e => e.Endpoint.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>Every distinct port/protocol a participating pod declares, by port then protocol name.</summary>
    public IReadOnlyList<Probe> DeclaredProbes() =>
        Model.Pods.Where(p => Compiler.Endpoints.ContainsKey(p.Id))
            .SelectMany(p => p.Ports)
            .Select(p => new Probe(p.Number, p.Protocol))
            .Distinct()
            .OrderBy(p => p.Port)
            .ThenBy(p => p.ProtocolName, StringComparer.Ordinal)
            .ToList();

    /// <summary>Finds a pod by NS/NAME (a bare NAME means the default namespace), or says why not.</summary>
    public EndpointPolicy? Find(string option, string text, out string error)
    {
        error = "";
        var slash = text.IndexOf('/');
        var id = slash < 0 ? new EndpointId("default", text) : new EndpointId(text[..slash], text[(slash + 1)..]);
        if (id.Name.Length == 0 || id.Namespace.Length == 0 || id.Name.Contains('/'))
        {
            error = $"{option}: \"{text}\" is not NAMESPACE/POD";
            return null;
        }
        if (Compiler.Get(id) is { } endpoint)
            return endpoint;
        error = Compiler.GetPod(id) is null
            ? $"{option}: pod {id} does not exist in the given files"
            : $"{option}: pod {id} has no IP address (status.podIP), so it takes no part in policy";
        return null;
    }
}
