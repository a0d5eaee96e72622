using System.CommandLine;

namespace Patronus.Cli.Status;

internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Not built yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("patronus status: not built yet");
            return 1;
        });
        return command;
    }
}
