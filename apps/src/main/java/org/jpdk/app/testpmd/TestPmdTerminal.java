package org.jpdk.app.testpmd;

import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.completer.StringsCompleter;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * The prompt's line source on a terminal: JLine with line editing, completion of the command
 * words and a history kept in {@code ~/.jpdk_testpmd_history}. Ctrl-C and Ctrl-D read as quit.
 */
final class TestPmdTerminal implements TestPmdPrompt.LineSource {
    private final Terminal terminal;
    private final LineReader reader;

    private TestPmdTerminal(Terminal terminal, LineReader reader) {
        this.terminal = terminal;
        this.reader = reader;
    }

    /** A JLine source on the system terminal, or null (after one line on {@code out}) if none can be had. */
    static TestPmdTerminal open(PrintStream out) {
        try {
            Terminal terminal = TerminalBuilder.builder().system(true).name("testpmd").build();
            LineReader reader = LineReaderBuilder.builder()
                    .terminal(terminal)
                    .appName("testpmd")
                    .completer(new StringsCompleter(words()))
                    .variable(LineReader.HISTORY_FILE, Path.of(System.getProperty("user.home"), ".jpdk_testpmd_history"))
                    .build();
            return new TestPmdTerminal(terminal, reader);
        } catch (IOException | RuntimeException e) {
            out.println("testpmd: no line editing (" + e.getMessage() + "); reading plain lines");
            return null;
        }
    }

    private static java.util.List<String> words() {
        java.util.List<String> w = new java.util.ArrayList<>(java.util.List.of("start", "tx_first", "stop", "show", "port",
                "stats", "info", "xstats", "config", "fwd", "all", "clear", "set", "burst", "nbcore", "eth-peer", "txpkts",
                "help", "quit", "close", "rxtx"));
        w.addAll(FwdEngines.names());
        return w;
    }

    @Override
    public String readLine() {
        try {
            return reader.readLine(TestPmdPrompt.PROMPT);
        } catch (UserInterruptException | EndOfFileException e) {
            return null;
        }
    }

    @Override
    public void close() {
        try {
            reader.getHistory().save();
        } catch (IOException | RuntimeException e) {
            // a history that cannot be written is no reason to fail the exit
        }
        try {
            terminal.close();
        } catch (IOException e) {
            // the terminal is going away with the process anyway
        }
    }
}
