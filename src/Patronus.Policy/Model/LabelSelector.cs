namespace Patronus.Policy.Model;

/// <summary>The operators of a label selector requirement (meta/v1 LabelSelectorRequirement.operator).</summary>
public enum SelectorOperator
{
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// <summary>One <c>matchExpressions</c> entry. In/NotIn carry values; Exists/DoesNotExist carry none.</summary>
public sealed record LabelRequirement(string Key, SelectorOperator Operator, IReadOnlyList<string> Values)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var present = labels.TryGetValue(Key, out var value);
        return Operator switch
        {
            SelectorOperator.In => present && Values.Contains(value!),
            // NotIn also matches objects that lack the key (apimachinery labels.Requirement.Matches).
            SelectorOperator.NotIn => !present || !Values.Contains(value!),
            SelectorOperator.Exists => present,
            SelectorOperator.DoesNotExist => !present,
            _ => false,
        };
    }
}

/// <summary>
/// A meta/v1 LabelSelector: every <c>matchLabels</c> pair and every requirement must hold.
/// An empty selector matches everything.
/// </summary>
public sealed record LabelSelector(IReadOnlyDictionary<string, string> MatchLabels, IReadOnlyList<LabelRequirement> MatchExpressions)
{
    public static readonly LabelSelector Everything = new(new Dictionary<string, string>(), []);

    public bool IsEverything => MatchLabels.Count == 0 && MatchExpressions.Count == 0;

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (key, value) in MatchLabels)
            if (!labels.TryGetValue(key, out var actual) || actual != value)
                return false;
        foreach (var requirement in MatchExpressions)
            if (!requirement.Matches(labels))
                return false;
        return true;
    }

    public override string ToString()
    {
        if (IsEverything)
            return "{}";
        var parts = MatchLabels.Select(l => $"{l.Key}={l.Value}")
            .Concat(MatchExpressions.Select(e => e.Operator switch
            {
                SelectorOperator.In => $"{e.Key} in ({string.Join(",", e.Values)})",
                SelectorOperator.NotIn => $"{e.Key} notin ({string.Join(",", e.Values)})",
                SelectorOperator.Exists => e.Key,
                _ => $"!{e.Key}",
            }));
        return string.Join(",", parts);
    }
}
