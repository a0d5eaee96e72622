using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Patronus.Kubernetes.Manifests;

/// <summary>
/// YAML documents to JSON trees, with YAML's plain-scalar typing (80 is a number, "80" a string, true a bool,
/// ~ null), under <see cref="ManifestLimits"/>.
/// </summary>
/// <remarks>
/// Built from YamlDotNet's event parser rather than its representation model (YamlStream): the model builds
/// nodes recursively and resolves an alias to the very node it names, so a list nested 20,000 deep overflows
/// the stack, a recursive alias makes a cyclic graph, and a "billion laughs" document expands without bound
/// when walked. Here an explicit stack holds the open collections, every alias is copied only after its size
/// and height are checked against the limits, and an alias to a node still open is refused.
/// </remarks>
internal static partial class YamlToJson
{
    /// <summary>The documents of one YAML text, in order; throws <see cref="YamlException"/> or <see cref="ManifestTooComplexException"/>.</summary>
    public static List<JsonNode?> ReadDocuments(string text, ManifestLimits limits)
    {
        var parser = new Parser(new StringReader(text));
        var documents = new List<JsonNode?>();
        var reader = new DocumentReader(limits);
        parser.Consume<StreamStart>();
        while (parser.TryConsume<DocumentStart>(out _))
        {
            documents.Add(reader.Read(parser));
            parser.Consume<DocumentEnd>();
        }
        parser.Consume<StreamEnd>();
        return documents;
    }

    private sealed class DocumentReader(ManifestLimits limits)
    {
        private sealed class Frame(JsonNode container, string? anchor, int nodesAtStart)
        {
            public JsonNode Container { get; } = container;
            public string? Anchor { get; } = anchor;
            public int NodesAtStart { get; } = nodesAtStart;
            public string? PendingKey { get; set; }
            public bool HasKey { get; set; }
            public int ChildHeight { get; set; }
        }

        private readonly Dictionary<string, (JsonNode? Node, int Size, int Height)> _anchors = new(StringComparer.Ordinal);
        private readonly HashSet<string> _openAnchors = new(StringComparer.Ordinal);
        private readonly Stack<Frame> _open = new();
        private int _nodes;
        private int _aliasNodes;

        public JsonNode? Read(IParser parser)
        {
            _anchors.Clear();
            _openAnchors.Clear();
            _open.Clear();
            _nodes = 0;
            _aliasNodes = 0;
            JsonNode? root = null;
            var done = false;
            while (!done)
            {
                var current = parser.Current ?? throw new YamlException("unexpected end of the document");
                var line = (int)current.Start.Line;
                switch (current)
                {
                    case MappingStart mapping:
                        parser.MoveNext();
                        Open(new JsonObject(), mapping.Anchor, line);
                        continue;
                    case SequenceStart sequence:
                        parser.MoveNext();
                        Open(new JsonArray(), sequence.Anchor, line);
                        continue;
                    case MappingEnd or SequenceEnd:
                        parser.MoveNext();
                        var closed = _open.Pop();
                        var height = closed.ChildHeight + 1;
                        if (closed.Anchor is { } anchor)
                        {
                            _openAnchors.Remove(anchor);
                            _anchors[anchor] = (closed.Container, _nodes - closed.NodesAtStart, height);
                        }
                        if (_open.TryPeek(out var parent))
                            parent.ChildHeight = Math.Max(parent.ChildHeight, height);
                        else
                        {
                            root = closed.Container;
                            done = true;
                        }
                        continue;
                    case Scalar scalar:
                        parser.MoveNext();
                        if (_open.TryPeek(out var owner) && owner.Container is JsonObject && !owner.HasKey)
                        {
                            owner.PendingKey = scalar.Value;
                            owner.HasKey = true;
                            continue;
                        }
                        Count(1, 0, line);
                        var value = Scalar(scalar);
                        if (!scalar.Anchor.IsEmpty)
                            _anchors[scalar.Anchor.Value] = (value, 1, 1);
                        if (!Place(value, 1))
                        {
                            root = value;
                            done = true;
                        }
                        continue;
                    case AnchorAlias alias:
                        parser.MoveNext();
                        var name = alias.Value.Value;
                        if (_openAnchors.Contains(name))
                            throw new ManifestTooComplexException(line, $"alias *{name} refers to the node that contains it (a recursive alias)");
                        if (!_anchors.TryGetValue(name, out var target))
                            throw new ManifestTooComplexException(line, $"alias *{name} refers to no anchor before it");
                        if (_open.TryPeek(out var keyOwner) && keyOwner.Container is JsonObject && !keyOwner.HasKey)
                        {
                            keyOwner.PendingKey = target.Node is JsonValue keyValue ? keyValue.ToString() : throw new ManifestTooComplexException(line, "mapping keys must be scalars");
                            keyOwner.HasKey = true;
                            continue;
                        }
                        Count(target.Size, target.Size, line);
                        CheckDepth(_open.Count + target.Height, line);
                        var copy = target.Node?.DeepClone();
                        if (!Place(copy, target.Height))
                        {
                            root = copy;
                            done = true;
                        }
                        continue;
                    default:
                        throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name} in a document");
                }
            }
            return root;
        }

        private void Open(JsonNode container, AnchorName anchor, int line)
        {
            if (_open.TryPeek(out var owner) && owner.Container is JsonObject && !owner.HasKey)
                throw new ManifestTooComplexException(line, "mapping keys must be scalars");
            Count(1, 0, line);
            CheckDepth(_open.Count + 1, line);
            Place(container, 0);
            var name = anchor.IsEmpty ? null : anchor.Value;
            if (name is not null)
                _openAnchors.Add(name);
            _open.Push(new Frame(container, name, _nodes - 1));
        }

        /// <summary>Puts a value into the open collection; false when there is none (the value is the document).</summary>
        private bool Place(JsonNode? value, int height)
        {
            if (!_open.TryPeek(out var parent))
                return false;
            if (parent.Container is JsonArray array)
            {
                array.Add(value);
            }
            else
            {
                ((JsonObject)parent.Container)[parent.PendingKey ?? ""] = value;
                parent.HasKey = false;
                parent.PendingKey = null;
            }
            parent.ChildHeight = Math.Max(parent.ChildHeight, height);
            return true;
        }

        private void Count(int nodes, int aliasNodes, int line)
        {
            _nodes += nodes;
            _aliasNodes += aliasNodes;
            if (_aliasNodes > limits.MaxAliasNodes)
                throw new ManifestTooComplexException(line, $"aliases expand to more than {limits.MaxAliasNodes} nodes; refused");
            if (_nodes > limits.MaxNodes)
                throw new ManifestTooComplexException(line, $"the document has more than {limits.MaxNodes} nodes; refused");
        }

        private void CheckDepth(int depth, int line)
        {
            if (depth > limits.MaxDepth)
                throw new ManifestTooComplexException(line, $"nested deeper than {limits.MaxDepth} levels; refused");
        }
    }

    private static JsonNode? Scalar(Scalar scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
            return JsonValue.Create(text);
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return JsonValue.Create(integer);
        // A float that does not fit a double (1e999) stays text, as Go's YAML (and so kubectl) reads it:
        // JSON has no infinity, and an annotation holding "1e999" is a perfectly good string.
        if (FloatLiteral().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
            return JsonValue.Create(real);
        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatLiteral();
}

/// <summary>A document beyond <see cref="ManifestLimits"/>, or with an alias that cannot be expanded; <see cref="Line"/> is within the document.</summary>
internal sealed class ManifestTooComplexException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}
