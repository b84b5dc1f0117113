package org.jpdk.app.top;

import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.InfoCmp.Capability;
import org.jline.utils.NonBlockingReader;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;

/**
 * The full-screen view on a terminal, with JLine: the alternate screen, no cursor, keys read
 * without echo. Each frame is redrawn whole, cut to the window's width and height. q, Q or Ctrl-C
 * quits; closing (also from a shutdown hook, when the JVM is ended by a signal) gives the user
 * back the screen, the cursor and the terminal's modes as they were.
 */
final class TopScreen implements Top.Screen {
    private static final int CTRL_C = 3;

    private final Terminal terminal;
    private final Attributes saved;
    private final NonBlockingReader keys;
    private final Thread restore = new Thread(this::restore, "top-restore");
    private volatile boolean quit;
    private boolean restored;

    private TopScreen(Terminal terminal) {
        this.terminal = terminal;
        this.saved = terminal.enterRawMode();
        this.keys = terminal.reader();
        terminal.handle(Terminal.Signal.INT, s -> quit = true);
        terminal.puts(Capability.enter_ca_mode);
        terminal.puts(Capability.cursor_invisible);
        terminal.puts(Capability.clear_screen);
        terminal.writer().print("jpdk top: reading the app... (q quits)");
        terminal.flush();
        Runtime.getRuntime().addShutdownHook(restore);
    }

    /** The view on the system terminal, or null when there is none JLine can drive (then frames are printed as lines). */
    static TopScreen open() {
        try {
            Terminal t = TerminalBuilder.builder().system(true).name("jpdk top").build();
            if (t.getType().startsWith(Terminal.TYPE_DUMB)) {
                t.close();
                return null;
            }
            return new TopScreen(t);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public void show(List<String> lines) {
        int width = Math.max(20, terminal.getWidth()), height = Math.max(2, terminal.getHeight());
        PrintWriter w = terminal.writer();
        terminal.puts(Capability.clear_screen);
        int rows = Math.min(lines.size(), height - 1);
        for (int i = 0; i < rows; i++) {
            terminal.puts(Capability.cursor_address, i, 0);
            String l = lines.get(i);
            w.print(l.length() <= width ? l : l.substring(0, width));
        }
        terminal.puts(Capability.cursor_address, height - 1, 0);
        w.print(rows < lines.size() ? "(" + (lines.size() - rows) + " more lines: enlarge the window)  q quits" : "q quits");
        terminal.flush();
    }

    @Override
    public boolean pause(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        try {
            for (long left = millis; left > 0 && !quit; left = (deadline - System.nanoTime()) / 1_000_000) {
                int c = keys.read(left);
                if (c == 'q' || c == 'Q' || c == CTRL_C || c == NonBlockingReader.EOF) quit = true;
            }
        } catch (IOException e) {
            quit = true;
        }
        return quit;
    }

    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(restore);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook has run or runs restore() again, which is a no-op
        }
    }

    private synchronized void restore() {
        if (restored) return;
        restored = true;
        terminal.puts(Capability.cursor_visible);
        terminal.puts(Capability.exit_ca_mode);
        terminal.setAttributes(saved);
        terminal.flush();
        try {
            terminal.close();
        } catch (IOException e) {
            // the terminal is going away with the process anyway
        }
    }
}
