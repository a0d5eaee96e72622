using System.Text.Json;
using Patronus.Cni.Config;
using Patronus.Cni.Diagnostics;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// One run of the plugin: read the environment and stdin, run the verb, print its result or the spec's
/// error JSON (SPEC.md section 5, "Error"), and return the exit code. No exception escapes as a stack trace.
/// </summary>
public static class Invocation
{
    public static int Run(Func<string, string?> getEnv, Stream stdin, Stream stdout)
    {
        byte[] input = [];
        try
        {
            var env = CniEnvironment.Read(getEnv);
            input = ReadAll(stdin);
            var output = Dispatch(env, input, getEnv);
            stdout.Write(output);
            stdout.Flush();
            return 0;
        }
        catch (CniException e)
        {
            return Fail(stdout, input, e.Code, e.Message, e.Details);
        }
        catch (NetlinkException e)
        {
            // EBUSY / EAGAIN: the kernel asks to retry; the runtime will (code 11).
            var code = e.Errno is 11 or 16 ? CniErrorCode.TryAgainLater : CniErrorCode.IoFailure;
            return Fail(stdout, input, code, e.Message, null);
        }
        catch (Exception e)
        {
            // Anything else comes from the system underneath (the kernel, the file system): the spec's "I/O
            // failure", in words from the errno. Never the stack trace, the exception's type or its Message,
            // which this build strips to a resource key (see SystemErrorText).
            return Fail(stdout, input, CniErrorCode.IoFailure, $"{getEnv("CNI_COMMAND")} failed: {SystemErrorText.Describe(e)}", null);
        }
    }

    private static byte[] Dispatch(CniEnvironment env, byte[] input, Func<string, string?> getEnv)
    {
        if (env.Command == CniCommand.Version)
        {
            return VersionCommand.Run(input);
        }

        DelegatedIpam.RefuseIfDelegatedToByItself(getEnv);
        using var conf = new ParsedConf(NetConf.Parse(input, forRemoval: env.Command == CniCommand.Del));
        return env.Command switch
        {
            CniCommand.Add => AddCommand.Run(env, conf.Value),
            CniCommand.Del => DelCommand.Run(env, conf.Value),
            CniCommand.Check => CheckCommand.Run(env, conf.Value),
            CniCommand.Gc => GcCommand.Run(env, conf.Value),
            CniCommand.Status => StatusCommand.Run(env, conf.Value),
            _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_COMMAND {env.Command} is not handled"),
        };
    }

    private static int Fail(Stream stdout, byte[] input, CniErrorCode code, string message, string? details)
    {
        try
        {
            stdout.Write(CniJson.WriteError(VersionForError(input), code, message, details));
            stdout.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            // Stdout is gone (the runtime stopped reading): the exit code still says it failed.
        }

        return 1;
    }

    /// <summary>The error is printed in the config's version when it has a supported one.</summary>
    private static string VersionForError(byte[] input)
    {
        try
        {
            using var doc = JsonDocument.Parse(input);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("cniVersion", out var v)
                && v.ValueKind == JsonValueKind.String
                && v.GetString() is { } version
                && CniVersion.IsSupported(version))
            {
                return version;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON, or "cniVersion" is not text: the error goes out in the latest version.
        }

        return CniVersion.Latest;
    }

    private static byte[] ReadAll(Stream stdin)
    {
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }

    private readonly struct ParsedConf(NetConf value) : IDisposable
    {
        public NetConf Value { get; } = value;

        public void Dispose() => Value.Document.Dispose();
    }
}
