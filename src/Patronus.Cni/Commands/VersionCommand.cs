using System.Text.Json;
using Patronus.Cni.Spec;

namespace Patronus.Cni.Commands;

/// <summary>VERSION: stdin holds <c>{"cniVersion": ...}</c> (or nothing); the answer lists what the plugin speaks.</summary>
public static class VersionCommand
{
    public static byte[] Run(byte[] input)
    {
        var version = CniVersion.Latest;
        if (input.AsSpan().Trim(" \t\r\n"u8).Length > 0)
        {
            try
            {
                using var doc = JsonDocument.Parse(input);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("cniVersion", out var v) && v.ValueKind == JsonValueKind.String)
                {
                    version = CniVersion.Require(v.GetString(), "cniVersion");
                }
            }
            catch (JsonException e)
            {
                throw new CniException(CniErrorCode.DecodeFailure, $"VERSION input on stdin is not valid JSON: {e.Message}");
            }
        }

        return CniJson.WriteVersionInfo(version);
    }
}
