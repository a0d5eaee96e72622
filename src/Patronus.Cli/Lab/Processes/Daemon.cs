using System.Runtime.InteropServices;
using System.Text;
using Patronus.Cli.Lab.Processes.Interop;
using Patronus.Netlink;

namespace Patronus.Cli.Lab.Processes;

/// <summary>
/// Starts long-running lab processes (the agents) so that they outlive the command that started them: a session of
/// their own (no terminal's Ctrl-C or hang-up reaches them), stdin from /dev/null, stdout and stderr appended to a
/// log file, working directory /, and the network namespace of the node they serve. A child is born in the network
/// namespace of the thread that spawns it, so the spawn happens on a thread inside that namespace.
/// </summary>
internal static unsafe class Daemon
{
    /// <returns>The process id.</returns>
    /// <exception cref="LabException">The program could not be started; the message says why.</exception>
    public static int Start(NetNs netns, string program, IReadOnlyList<string> arguments, string logFile) =>
        netns.Run(() => StartHere(program, arguments, logFile));

    private static int StartHere(string program, IReadOnlyList<string> arguments, string logFile)
    {
        var strings = new List<nint>();
        var fileActions = NativeMemory.AllocZeroed(Spawn.FileActionsSize);
        var attributes = NativeMemory.AllocZeroed(Spawn.AttributesSize);
        var signals = NativeMemory.AllocZeroed(Spawn.SignalSetSize);
        var argv = (byte**)NativeMemory.AllocZeroed((nuint)(arguments.Count + 2), (nuint)sizeof(byte*));
        var environment = Environment.GetEnvironmentVariables();
        var envp = (byte**)NativeMemory.AllocZeroed((nuint)(environment.Count + 1), (nuint)sizeof(byte*));
        try
        {
            Check(Spawn.FileActionsInit(fileActions), "posix_spawn_file_actions_init");
            Check(Spawn.AttributesInit(attributes), "posix_spawnattr_init");
            Check(Spawn.FileActionsAddOpen(fileActions, 0, Utf8("/dev/null"), Spawn.ReadOnly, 0), "open /dev/null");
            Check(Spawn.FileActionsAddOpen(fileActions, 1, Utf8(logFile), Spawn.WriteOnly | Spawn.Create | Spawn.Append, 0x1a4 /* 0644 */), $"open {logFile}");
            Check(Spawn.FileActionsAddDup2(fileActions, 1, 2), "dup2");
            Check(Spawn.FileActionsAddChdir(fileActions, Utf8("/")), "chdir /");
            // The runtime ignores SIGPIPE and may block signals; a daemon starts with the defaults and nothing blocked.
            Spawn.SignalSetFill(signals);
            Check(Spawn.AttributesSetSignalDefaults(attributes, signals), "posix_spawnattr_setsigdefault");
            Spawn.SignalSetEmpty(signals);
            Check(Spawn.AttributesSetSignalMask(attributes, signals), "posix_spawnattr_setsigmask");
            Check(Spawn.AttributesSetFlags(attributes, Spawn.SetSession | Spawn.SetSignalDefaults | Spawn.SetSignalMask), "posix_spawnattr_setflags");

            argv[0] = Utf8(program);
            for (var i = 0; i < arguments.Count; i++)
                argv[i + 1] = Utf8(arguments[i]);
            var e = 0;
            foreach (System.Collections.DictionaryEntry variable in environment)
                envp[e++] = Utf8($"{variable.Key}={variable.Value}");

            var error = Spawn.PosixSpawn(out var pid, argv[0], fileActions, attributes, argv, envp);
            if (error != 0)
                throw new LabException($"cannot start {program}: {Spawn.Error(error)}");
            return pid;
        }
        finally
        {
            Spawn.FileActionsDestroy(fileActions);
            Spawn.AttributesDestroy(attributes);
            NativeMemory.Free(fileActions);
            NativeMemory.Free(attributes);
            NativeMemory.Free(signals);
            NativeMemory.Free(argv);
            NativeMemory.Free(envp);
            foreach (var s in strings)
                Marshal.FreeCoTaskMem(s);
        }

        byte* Utf8(string text)
        {
            var pointer = Marshal.StringToCoTaskMemUTF8(text);
            strings.Add(pointer);
            return (byte*)pointer;
        }

        static void Check(int error, string step)
        {
            if (error != 0)
                throw new LabException($"cannot prepare a daemon ({step}): {Spawn.Error(error)}");
        }
    }
}
