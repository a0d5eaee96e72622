namespace Patronus.Kubernetes.Mapping;

/// <summary>
/// Why one Kubernetes object (or one document of a file) was rejected: where it came from, which object,
/// which field, and what is wrong with it.
/// </summary>
/// <param name="Source">File and line of the document, when the object came from a file.</param>
/// <param name="Field">The field path, e.g. <c>spec.ingress[0].from[1].ipBlock.cidr</c>.</param>
public sealed record ObjectError(string? Source, string? Kind, string? Namespace, string? Name, string? Field, string Message)
{
    public override string ToString()
    {
        var parts = new List<string>();
        if (Source is not null)
            parts.Add(Source);
        if (Kind is not null || Name is not null)
            parts.Add($"{Kind ?? "object"} {(Namespace is null ? "" : Namespace + "/")}{Name ?? "(unnamed)"}".TrimEnd());
        if (Field is not null)
            parts.Add(Field);
        parts.Add(Message);
        return string.Join(": ", parts);
    }
}

/// <summary>An object mapped to the policy model, or the reasons it could not be.</summary>
public sealed class MappingResult<T> where T : class
{
    private MappingResult(T? value, IReadOnlyList<ObjectError> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }

    public IReadOnlyList<ObjectError> Errors { get; }

    public bool Succeeded => Value is not null;

    public static MappingResult<T> Success(T value) => new(value, []);

    public static MappingResult<T> Failure(IReadOnlyList<ObjectError> errors) => new(null, errors);
}
