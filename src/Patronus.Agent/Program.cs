using Patronus.Agent.Hosting;

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
