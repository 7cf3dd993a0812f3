/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/shim.h"

int main(int argc, char **argv)
{
        return shim_main(argc, argv);
}
