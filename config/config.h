#pragma once
// placeholder while the loader is written
