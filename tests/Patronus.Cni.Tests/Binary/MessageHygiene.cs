using System.Text.RegularExpressions;

namespace Patronus.Cni.Tests.Binary;

/// <summary>
/// What no plugin output may hold: a stack trace, a .NET exception type name, or a resource key. The NativeAOT
/// build strips the framework's message texts (UseSystemResourceKeys), so a framework message that slips through
/// reads "IO_FileNotFound_FileName, /x" or "Arg_ParamName_Name" instead of words.
/// </summary>
public static partial class MessageHygiene
{
    // The CNI, Kubernetes and plugin variable names are the only upper-case words with underscores a message may quote.
    [GeneratedRegex(@"\b(CNI|K8S|PATRONUS)_[A-Z_]+\b")]
    private static partial Regex KnownVariables();

    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]*_[A-Z][A-Za-z0-9_]*\b")]
    private static partial Regex ResourceKey();

    /// <summary>Why <paramref name="text"/> would embarrass us in front of an operator, or null when it is clean.</summary>
    public static string? Problem(string text)
    {
        if (text.Contains("   at ", StringComparison.Ordinal))
            return "a stack trace";
        if (text.Contains("Exception", StringComparison.Ordinal))
            return "an exception type name";
        if (ResourceKey().Match(KnownVariables().Replace(text, "")) is { Success: true } key)
            return $"the resource key \"{key.Value}\"";
        return null;
    }

    public static void AssertClean(string text, string what)
    {
        if (Problem(text) is { } problem)
            Assert.Fail($"{what} holds {problem}: {text}");
    }
}
