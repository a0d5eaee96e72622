using Patronus.Kubernetes.Mapping;
using Patronus.Policy.Model;

namespace Patronus.Kubernetes.Manifests;

/// <summary>Manifest files read and mapped to the policy model: the valid objects, and every rejection with its place.</summary>
public sealed class ManifestModel
{
    public List<Namespace> Namespaces { get; } = [];

    public List<Pod> Pods { get; } = [];

    public List<NetworkPolicy> Policies { get; } = [];

    public List<ObjectError> Errors { get; } = [];

    public static ManifestModel Load(IEnumerable<string> paths) => From(ManifestLoader.LoadFiles(paths));

    /// <summary>Maps a loaded set. A later object with the same namespace and name replaces an earlier one.</summary>
    public static ManifestModel From(ManifestSet set)
    {
        var model = new ManifestModel();
        model.Errors.AddRange(set.Errors);
        model.Namespaces.AddRange(Map(set, set.Namespaces, PolicyModelMapper.ToNamespace, model.Errors).DistinctBy(n => n.Name, last: true));
        model.Pods.AddRange(Map(set, set.Pods, PolicyModelMapper.ToPod, model.Errors).DistinctBy(p => (p.Namespace, p.Name), last: true));
        model.Policies.AddRange(Map(set, set.Policies, PolicyModelMapper.ToPolicy, model.Errors).DistinctBy(p => (p.Namespace, p.Name), last: true));
        return model;
    }

    private static IEnumerable<TModel> Map<TObject, TModel>(ManifestSet set, IReadOnlyList<TObject> objects, Func<TObject, MappingResult<TModel>> map, List<ObjectError> errors)
        where TObject : class
        where TModel : class
    {
        var mapped = new List<TModel>();
        foreach (var obj in objects)
        {
            var result = map(obj);
            if (result.Value is { } value)
                mapped.Add(value);
            var source = set.Sources.GetValueOrDefault(obj);
            errors.AddRange(result.Errors.Select(e => e with { Source = source }));
        }
        return mapped;
    }
}

internal static class LastWins
{
    public static IEnumerable<T> DistinctBy<T, TKey>(this IEnumerable<T> items, Func<T, TKey> key, bool last) where TKey : notnull
    {
        if (!last)
            return Enumerable.DistinctBy(items, key);
        var byKey = new Dictionary<TKey, T>();
        var order = new List<TKey>();
        foreach (var item in items)
        {
            var k = key(item);
            if (!byKey.ContainsKey(k))
                order.Add(k);
            byKey[k] = item;
        }
        return order.Select(k => byKey[k]);
    }
}
