using Patronus.Agent.Hosting;
using Patronus.Agent.Install;
using Patronus.Netlink.Interop;

// Whatever umask the agent was started with, what it creates (database, journal, socket, lock files,
// directories) is the root's alone; the code also gives each file its mode explicitly.
Libc.Umask(0b000_111_111);

if (args is ["--help"] or ["-h"])
{
    Console.Out.Write(AgentOptions.Help());
    Console.Out.Write(InstallCommands.Usage);
    return 0;
}

// One-shot modes: the DaemonSet's init container (--install-cni) and the node's cleanup (--uninstall).
if (InstallCommands.Handles(args))
    return await InstallCommands.RunAsync(args);
args = AgentOptions.Normalize(args);

try
{
    var app = AgentHost.Build(args);
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (AgentOptionsException e)
{
    Console.Error.WriteLine($"patronus-agent: {e.Message}");
    return 2;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
{
    Console.Error.WriteLine($"patronus-agent: cannot start: {e.Message}");
    return 1;
}
