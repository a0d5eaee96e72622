using System.Text.Json;

namespace Patronus.Cni.Spec;

/// <summary>
/// Typed reads of JSON properties that fail with the property's full path
/// (<c>runtimeConfig.bandwidth.ingressRate must be a number, not a string</c>): a value of the wrong JSON
/// type is code 6 (the document cannot be decoded into the config, as the IPAM section also reports it),
/// a well-typed value that makes no sense is code 7.
/// </summary>
public readonly struct JsonFields(string root)
{
    private string Path(string? parent, string name) =>
        (parent ?? root) is { Length: > 0 } p ? $"{p}.{name}" : name;

    public void RequireObject(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw WrongType(path, "an object", e);
        }
    }

    public CniException WrongType(string path, string expected, JsonElement e) =>
        new(CniErrorCode.DecodeFailure, $"{path} must be {expected}, not {Describe(e.ValueKind)}");

    public CniException Invalid(string path, string why) => new(CniErrorCode.InvalidNetworkConfig, $"{path} {why}");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static bool TryGet(JsonElement e, string name, out JsonElement value) =>
        e.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    public string? OptString(JsonElement e, string name, string? parent = null)
    {
        if (!TryGet(e, name, out var v))
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw WrongType(Path(parent, name), "a string", v);
    }

    public string ReqString(JsonElement e, string name, string? parent = null)
    {
        var s = OptString(e, name, parent);
        return string.IsNullOrEmpty(s) ? throw Invalid(Path(parent, name), "is required") : s;
    }

    public bool? OptBool(JsonElement e, string name, string? parent = null)
    {
        if (!TryGet(e, name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(Path(parent, name), "a boolean", v),
        };
    }

    public long? OptLong(JsonElement e, string name, string? parent = null)
    {
        if (!TryGet(e, name, out var v))
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number)
        {
            throw WrongType(Path(parent, name), "a number", v);
        }

        return v.TryGetInt64(out var n) ? n : throw Invalid(Path(parent, name), $"({v.GetRawText()}) must be a whole number in range");
    }

    public int? OptInt(JsonElement e, string name, string? parent = null)
    {
        var n = OptLong(e, name, parent);
        return n is null ? null
            : n is >= int.MinValue and <= int.MaxValue ? (int)n
            : throw Invalid(Path(parent, name), $"({n}) is out of range");
    }

    public JsonElement? OptObject(JsonElement e, string name, string? parent = null)
    {
        if (!TryGet(e, name, out var v))
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Object ? v : throw WrongType(Path(parent, name), "an object", v);
    }

    public JsonElement? OptArray(JsonElement e, string name, string? parent = null)
    {
        if (!TryGet(e, name, out var v))
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Array ? v : throw WrongType(Path(parent, name), "an array", v);
    }

    public IReadOnlyList<string>? OptStrings(JsonElement e, string name, string? parent = null)
    {
        if (OptArray(e, name, parent) is not { } array)
        {
            return null;
        }

        var list = new List<string>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw WrongType($"{Path(parent, name)}[{i}]", "a string", item);
            }

            list.Add(item.GetString()!);
            i++;
        }

        return list;
    }
}
