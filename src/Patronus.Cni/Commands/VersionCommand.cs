using System.Text.Json;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Commands;

/// <summary>
/// VERSION: stdin holds <c>{"cniVersion": ...}</c> (or nothing); the answer lists what the plugin speaks.
/// A version the plugin does not speak is not an error here: a newer runtime asks in its own version and
/// must still learn which ones this plugin supports (the answer is then in the plugin's latest).
/// </summary>
public static class VersionCommand
{
    public static byte[] Run(byte[] input)
    {
        var version = CniVersion.Latest;
        if (input.AsSpan().Trim(" \t\r\n"u8).Length > 0)
        {
            using var doc = CniJson.ParseDocument(input, "VERSION input on stdin");
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("cniVersion", out var v) && v.ValueKind == JsonValueKind.String)
            {
                version = CniVersion.IsSupported(v.GetString()!) ? v.GetString()! : CniVersion.Latest;
            }
        }

        return CniJson.WriteVersionInfo(version);
    }
}
