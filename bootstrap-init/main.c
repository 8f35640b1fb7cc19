/* main.c - the guest's PID 1; everything happens in init_main() (run.c). */
#include "init.h"

int main(void)
{
	init_main();
}
