using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Patronus.Cni.Diagnostics;

/// <summary>
/// Lines for the runtime's log, on stderr: what the plugin let go rather than fail the verb for (a removal the
/// agent will reconcile). Stdout carries only the result or the error, as the spec wants. A plain write on
/// descriptor 2 rather than a logging framework: the plugin runs for milliseconds, writes a line at most, and
/// must not pay for a logger's start-up on every run.
/// </summary>
public static class PluginLog
{
    public static void Warning(string message)
    {
        try
        {
            using var stderr = new FileStream(new SafeFileHandle(2, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            stderr.Write(Encoding.UTF8.GetBytes($"patronus-cni: warning: {message}\n"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or ObjectDisposedException)
        {
            // No stderr (closed or not writable): the warning has nowhere to go, and the verb's outcome stands.
        }
    }
}
