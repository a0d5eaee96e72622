Console.Error.WriteLine("patronus-agent: not built yet");
return 1;
