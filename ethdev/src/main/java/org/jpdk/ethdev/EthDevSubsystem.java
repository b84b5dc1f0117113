package org.jpdk.ethdev;

import org.jpdk.eal.Eal;
import org.jpdk.eal.EalSubsystem;

/**
 * Brings ethdev up with the EAL: probes each {@code --vdev} device in command-line order, so ports
 * 0, 1, ... exist when {@code Eal.init} returns, and closes every port at cleanup, before memory
 * is released. A bad device string fails {@code Eal.init} with its one-line message.
 */
public final class EthDevSubsystem implements EalSubsystem {
    @Override
    public void init(Eal eal) {
        eal.onCleanup(EthDev::closeAll);
        for (String vdev : eal.config().vdevs()) EthDev.create(vdev);
    }
}
